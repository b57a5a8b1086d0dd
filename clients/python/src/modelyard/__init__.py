"""Modelyard's Python client: register ONNX models with a drift reference, predict, score files, promote and
deploy, watch drift; everything as pandas DataFrames.

    import modelyard
    client = modelyard.Client()            # MODELYARD_URL, MODELYARD_API_KEY
    v = client.register("iris", onnx="model.onnx", reference=X_train, metrics={"accuracy": 0.97})
    client.predict("iris", X_test.head())
"""

from ._version import __version__
from .client import Client
from .deploy import Deployments
from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConfigurationError,
    ConflictError,
    JobFailedError,
    MissingDependencyError,
    ModelyardError,
    NetworkError,
    NotFoundError,
    ParityError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    UploadInterruptedError,
    VersionFailedError,
    WaitTimeoutError,
)
from .parity import ParityReport, check_parity
from .types import DeploymentRevision, Job, ModelVersion, StageTransition

__all__ = [
    "__version__",
    "Client",
    "Deployments",
    "check_parity",
    "ParityReport",
    "ModelVersion",
    "StageTransition",
    "Job",
    "DeploymentRevision",
    "ModelyardError",
    "ConfigurationError",
    "NetworkError",
    "ApiError",
    "ClientError",
    "ServerError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "UploadInterruptedError",
    "VersionFailedError",
    "JobFailedError",
    "WaitTimeoutError",
    "ParityError",
    "MissingDependencyError",
]
