"""(being written)"""


class MigrationMixin:
    pass
