/*
 * vmxdiff: libvirt 9.0.0's own VMX <-> domain XML conversion of many files in one process,
 * for esxnb's differential test (tests/test_differential.py builds it inside libvirt's test
 * tree next to the anchor's vmxbench, with the same conversion context as vmx2xmltest and
 * xml2vmxtest).
 *
 *   vmxdiff CASES
 *
 * CASES is a tab-separated list, one case a line:
 *   direction  input-file  output-file  datacenter-path-or-"-"  hw-version
 * Each converted case writes its output to output-file; a refused one writes
 * "ERROR<TAB>message" to output-file.  Before each case "START <n>" goes to stderr, flushed,
 * so a caller can tell which input crashed the process and go on after it.
 */
#include <config.h>

#include "testutils.h"
#include "internal.h"
#include "viralloc.h"
#include "virerror.h"
#include "vmx/vmx.h"

#define VIR_FROM_THIS VIR_FROM_VMWARE

static virCaps *caps;
static virDomainXMLOption *xmlopt;
static virVMXContext parseCtx;
static virVMXContext formatCtx;

#include "vmxbench-callbacks.h"

static void
capsInit(void)
{
    virCapsGuest *guest = NULL;

    caps = virCapabilitiesNew(VIR_ARCH_I686, true, true);
    if (caps == NULL)
        return;
    virCapabilitiesAddHostMigrateTransport(caps, "esx");
    guest = virCapabilitiesAddGuest(caps, VIR_DOMAIN_OSTYPE_HVM, VIR_ARCH_I686, NULL, NULL, 0, NULL);
    virCapabilitiesAddGuestDomain(guest, VIR_DOMAIN_VIRT_VMWARE, NULL, NULL, 0, NULL);
    guest = virCapabilitiesAddGuest(caps, VIR_DOMAIN_OSTYPE_HVM, VIR_ARCH_X86_64, NULL, NULL, 0, NULL);
    virCapabilitiesAddGuestDomain(guest, VIR_DOMAIN_VIRT_VMWARE, NULL, NULL, 0, NULL);
}

static char *
convert(bool vmx2xml, const char *input, const char *dcPath, int hw)
{
    g_autoptr(virDomainDef) def = NULL;

    if (vmx2xml) {
        parseCtx.datacenterPath = dcPath;
        if (!(def = virVMXParseConfig(&parseCtx, xmlopt, caps, input)))
            return NULL;
        return virDomainDefFormat(def, xmlopt, VIR_DOMAIN_DEF_FORMAT_SECURE);
    }
    if (!(def = virDomainDefParseString(input, xmlopt, NULL, VIR_DOMAIN_DEF_PARSE_INACTIVE)))
        return NULL;
    return virVMXFormatConfig(&formatCtx, xmlopt, def, hw);
}

int
main(int argc, char **argv)
{
    g_autofree char *list = NULL;
    g_auto(GStrv) lines = NULL;
    size_t i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CASES\n", argv[0]);
        return EXIT_FAILURE;
    }
    if (virErrorInitialize() < 0)
        return EXIT_FAILURE;
    capsInit();
    if (!caps || !(xmlopt = virVMXDomainXMLConfInit(caps)))
        return EXIT_FAILURE;
    parseCtx.parseFileName = testParseVMXFileName;
    formatCtx.formatFileName = testFormatVMXFileName;
    formatCtx.autodetectSCSIControllerModel = testAutodetectSCSIControllerModel;
    if (!g_file_get_contents(argv[1], &list, NULL, NULL)) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return EXIT_FAILURE;
    }
    lines = g_strsplit(list, "\n", -1);
    for (i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
        g_autofree char *input = NULL;
        g_autofree char *out = NULL;
        g_autofree char *text = NULL;

        if (g_strv_length(f) != 5)
            continue;
        fprintf(stderr, "START %zu\n", i);
        fflush(stderr);
        if (!g_file_get_contents(f[1], &input, NULL, NULL))
            return EXIT_FAILURE;
        virResetLastError();
        out = convert(STREQ(f[0], "vmx2xml"), input, STREQ(f[3], "-") ? NULL : f[3], atoi(f[4]));
        text = out ? g_strdup(out) : g_strdup_printf("ERROR\t%s", virGetLastErrorMessage());
        if (!g_file_set_contents(f[2], text, -1, NULL))
            return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
