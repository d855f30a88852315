"""(being written)"""


class InventoryMixin:
    pass
