"""autotrain: one network trained five ways on a bundled autograd engine."""

__version__ = "0.1.0"


def lazy_names(package: str, homes: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for a package whose names live in its submodules (PEP 562):
    ``homes`` maps each name to its submodule, imported on the name's first use (so the package itself
    imports nothing, and a light submodule of it can be imported at start-up)."""
    namespace = __import__(package, fromlist=["_"]).__dict__

    def __getattr__(name: str):
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = namespace[name] = getattr(importlib.import_module(f"{package}.{home}"), name)
        return value

    def __dir__():
        return sorted([*namespace, *homes])

    return __getattr__, __dir__
