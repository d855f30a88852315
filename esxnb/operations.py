"""(being written)"""


class OperationsMixin:
    pass
