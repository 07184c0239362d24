"""The two ways `kernels.get` can refuse a backend."""


class UnknownBackend(ValueError):
    """The name is not one of `kernels.BACKENDS`."""


class BackendUnavailable(RuntimeError):
    """The backend is known but cannot run here; the message says why and how to fix it."""
