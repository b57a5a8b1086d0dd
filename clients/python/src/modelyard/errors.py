"""Typed errors. Every refusal from the API becomes an :class:`ApiError` subclass chosen by its HTTP status
(one class per family: :class:`ClientError` for 4xx, :class:`ServerError` for 5xx, and one per status the API
uses), carrying the API's own error ``code`` (``VALIDATION_FAILED``, ``NOT_FOUND``, ...), ``message`` and
``error_id``. Outcomes that are not HTTP errors (a version that failed validation, a failed batch job, a parity
mismatch, a wait that timed out) have classes of their own with codes the client assigns."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class ModelyardError(Exception):
    """Base of every error this package raises. ``code`` is a stable, machine-readable string."""

    code: str = "ERROR"

    def __init__(self, message: str, *, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigurationError(ModelyardError):
    """The client was built without what it needs (an API key, a URL)."""

    code = "CONFIGURATION"


class NetworkError(ModelyardError):
    """The API could not be reached (refused, DNS, timeout)."""

    code = "NETWORK"


class UploadInterruptedError(NetworkError):
    """The connection closed while an upload was being sent: the platform drops uploads over its
    ``MAX_UPLOAD_BYTES`` limit without reading them (a client that reads while writing, like the CLI, sees its
    413), or the network failed."""

    code = "UPLOAD_INTERRUPTED"


class ApiError(ModelyardError):
    """The API answered with an error status. ``code`` is the API's (``ERROR_CODES`` in the contracts)."""

    status: int = 0

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        error_id: Optional[str] = None,
        details: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.error_id = error_id
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        ref = f" (error id {self.error_id})" if self.error_id else ""
        return f"HTTP {self.status} {self.code}: {self.message}{ref}"


class ClientError(ApiError):
    """4xx: the request was refused; retrying it unchanged will not help (except 429)."""


class ServerError(ApiError):
    """5xx: the platform failed or is not ready; retrying later may help."""


class BadRequestError(ClientError):
    """400: ``VALIDATION_FAILED`` (a body or parameter is wrong) or ``BAD_REQUEST``."""


class AuthenticationError(ClientError):
    """401: no key, an unknown or revoked key (``UNAUTHENTICATED``, ``INVALID_CREDENTIALS``)."""


class PermissionDeniedError(ClientError):
    """403: the key's role, scopes or model allow-list do not allow this (``FORBIDDEN``)."""


class NotFoundError(ClientError):
    """404: no such model, version, alias or job (``NOT_FOUND``)."""


class ConflictError(ClientError):
    """409: the change conflicts with the registry's state (``CONFLICT``)."""


class PayloadTooLargeError(ClientError):
    """413: the upload or body is over the platform's limit (``PAYLOAD_TOO_LARGE``)."""


class UnsupportedMediaTypeError(ClientError):
    """415 (``UNSUPPORTED_MEDIA_TYPE``)."""


class RateLimitedError(ClientError):
    """429: over the key's rate limit (``RATE_LIMITED``); ``retry_after`` says how many seconds to wait."""


class ServiceUnavailableError(ServerError):
    """503: a dependency is down or the model is not loaded yet (``NOT_READY``)."""


_BY_STATUS: Dict[int, Type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_for_status(
    status: int,
    code: str,
    message: str,
    *,
    error_id: Optional[str] = None,
    details: Any = None,
    retry_after: Optional[float] = None,
) -> ApiError:
    """The most specific class for ``status``, else the family's (:class:`ClientError` / :class:`ServerError`)."""
    cls = _BY_STATUS.get(status) or (ClientError if 400 <= status < 500 else ServerError if status >= 500 else ApiError)
    return cls(status, code, message, error_id=error_id, details=details, retry_after=retry_after)


class VersionFailedError(ModelyardError):
    """A registered version ended ``failed`` in validation; ``version`` holds it, ``reason`` the platform's."""

    code = "VERSION_FAILED"

    def __init__(self, message: str, *, version: Any, reason: Optional[str]) -> None:
        super().__init__(message)
        self.version = version
        self.reason = reason


class JobFailedError(ModelyardError):
    """A batch job ended ``failed`` or ``cancelled``; ``job`` holds it."""

    code = "JOB_FAILED"

    def __init__(self, message: str, *, job: Any) -> None:
        super().__init__(message)
        self.job = job


class WaitTimeoutError(ModelyardError):
    """A wait (validation, batch job, drift window) took longer than its timeout; the work goes on."""

    code = "TIMEOUT"


class ParityError(ModelyardError):
    """The ONNX export does not answer like the original model; ``report`` says where and by how much."""

    code = "PARITY_MISMATCH"

    def __init__(self, message: str, *, report: Any) -> None:
        super().__init__(message)
        self.report = report


class MissingDependencyError(ModelyardError, ImportError):
    """An optional extra is needed (``pip install 'modelyard[pandas]'`` or ``'modelyard[parity]'``)."""

    code = "MISSING_DEPENDENCY"
