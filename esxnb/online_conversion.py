"""(being written)"""


class ConversionMixin:
    pass
