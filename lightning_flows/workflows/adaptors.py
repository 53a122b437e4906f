"""Pinning a job's adaptor when a workflow is saved (`@latest` -> a concrete version)."""

from __future__ import annotations

from adaptor_tasks import AdaptorInstallError, AdaptorNotFoundError
from adaptor_tasks.specifiers import parse_specifier
from lightning_flows.core.errors import InvalidInput


def pin_adaptor(specifier: str, loc: str) -> str:
    """`http` or `@openfn/language-http@latest` -> `@openfn/language-http@7.2.10`.

    Exact versions are kept as given (they are installed when a run needs them);
    anything else is resolved now, so a run never changes adaptor under a user.
    """
    from lightning_flows.core.node_runtime import get_repository

    try:
        spec = parse_specifier(specifier)
        if spec.is_exact:
            return str(spec)
        return get_repository().resolve(spec).specifier
    except AdaptorNotFoundError as exc:
        raise InvalidInput(f"{loc}: unknown adaptor '{specifier}' ({exc}).") from exc
    except AdaptorInstallError as exc:
        raise InvalidInput(f"{loc}: cannot resolve adaptor '{specifier}': {exc}") from exc
