"""Fault injection for the embedded system (`haplan up`, `haplan fault ...`), no root needed."""

from services.faults.proxy import CuttableProxy

__all__ = ["CuttableProxy"]
