"""TF Serving's REST API (``/v1/models/...``) for the SavedModels ``nst-export`` writes, so a TF
Serving client can be tried against nst-web where the model server itself is not installed
(``nst-web --serving_models=FOLDER``; FOLDER holds ``NAME/VERSION/saved_model.pb`` as TF Serving's
model base paths do).

=========================================================  =========================================
``GET /v1/models/NAME`` (``/versions/V``)                   the version status, as TF Serving gives it
``POST /v1/models/NAME:predict`` (``/versions/V:predict``)  ``{"instances": [...]}`` (row) or
                                                            ``{"inputs": ...}`` (columnar), optional
                                                            ``"signature_name"``; binary values as
                                                            ``{"b64": ...}``
=========================================================  =========================================

Errors are ``{"error": "..."}`` with 400 (a request the model cannot take) or 404 (no such model or
version), as from TF Serving. Each model is loaded on its first request and kept.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nst_tf.errors import UserError

_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?::(?P<verb>[a-z]+))?$")


class ServingModels:
    """The models under ``folder``: ``{name: {version: path}}``, loaded when first asked for."""

    def __init__(self, folder):
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise UserError(f"--serving_models {folder} is not a folder; give the --output folder of nst-export")
        self.versions = {
            base.name: {int(v.name): v for v in base.iterdir() if v.name.isdigit() and (v / "saved_model.pb").is_file()}
            for base in sorted(self.folder.iterdir())
            if base.is_dir()
        }
        self.versions = {name: found for name, found in self.versions.items() if found}
        if not self.versions:
            raise UserError(
                f"--serving_models {folder} holds no NAME/VERSION/saved_model.pb; export one with "
                "nst-export --format=saved_model and give its --output folder"
            )
        self._loaded: dict = {}
        self._lock = threading.Lock()

    def path(self, name: str, version=None) -> Path:
        found = self.versions.get(name)
        if not found:
            here = ", ".join(self.versions)
            raise LookupError(f"Servable not found for request: Latest({name}); the models here: {here}")
        if version is None:
            return found[max(found)]
        if int(version) not in found:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        return found[int(version)]

    def signature(self, name: str, version, signature_name: str):
        from nst_tf.deploy import serving

        path = self.path(name, version)
        with self._lock:
            if path not in self._loaded:
                self._loaded[path] = serving.load(path)
        model = self._loaded[path]
        if signature_name not in model.signatures:
            raise ValueError(
                f'Serving signature name: "{signature_name}" not found in signature def; '
                f"this model has {', '.join(sorted(model.signatures))}"
            )
        return model.signatures[signature_name]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def routes(models: ServingModels) -> list:
    from nst_tf.deploy import serving

    async def handle(request: Request) -> Response:
        match = _PATH.match(request.path_params["rest"])
        if not match:
            return _error(404, f"unknown path /v1/models/{request.path_params['rest']}; use NAME or NAME:predict")
        name, version, verb = match.group("name"), match.group("version"), match.group("verb")
        try:
            path = models.path(name, version)
        except LookupError as exc:
            return _error(404, str(exc))
        if request.method == "GET" and verb is None:
            status = {"version": path.name, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            return JSONResponse({"model_version_status": [status]})
        if request.method != "POST" or verb != "predict":
            return _error(404, f"nst-web answers GET /v1/models/{name} and POST /v1/models/{name}:predict only")
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return _error(400, f"the request body is not JSON: {exc}")
        try:
            sig_name = body.get("signature_name", "serving_default") if isinstance(body, dict) else None
            fn = await run_in_threadpool(models.signature, name, version, sig_name or "serving_default")
            answer = await run_in_threadpool(serving.predict, fn, body)
        except (serving.RestError, ValueError) as exc:
            return _error(400, str(exc))
        return JSONResponse(answer)

    return [Route("/v1/models/{rest:path}", handle, methods=["GET", "POST"])]
