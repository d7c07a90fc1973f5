"""The web app: a Starlette application serving the JSON API and the page that uses it.

===========================  ===================================================================
``GET /``                    the page (``static/index.html``, no external assets)
``GET /api/info``            limits, defaults, the models in use, job counts
``GET /api/styles``          the bundled paintings; ``GET /api/styles/{name}/image`` each file
``POST /api/jobs``           multipart: ``content`` file; ``style`` file or ``style_name``;
                             ``method`` (``arbitrary`` | ``optimize`` | ``print`` | ``video``:
                             ``content`` is then a short clip); optional ``size``,
                             ``steps``, ``strength``, ``style_weight``, ``preserve_colors``.
                             202 ``{"id"}``; 400 ``{"error"}``; 413 over the upload limit; 429 queue full
``GET /api/jobs/{id}``       ``{"state", "progress", "step", "steps", "eta_s", "error", ...}``
``GET /api/jobs/{id}/preview``  the latest intermediate image (JPEG); 404 before the first
``GET /api/jobs/{id}/result``   the result (PNG, full size; MP4 for a video); 409 until the job is done
``DELETE /api/jobs/{id}``    cancel; 409 if it had already finished
``/v1/models/...``           with ``--serving_models``: TF Serving's REST API (:mod:`nst_tf.web.serving_api`)
===========================  ===================================================================

Uploads are read into memory up to ``max_upload_bytes`` (refused with 413 beyond, before the
form is parsed), decoded by :func:`nst_tf.images.load_image_bytes` (pixel-count limit checked
from the header) and downscaled to the job's size before they are queued.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nst_tf import images
from nst_tf.errors import UserError
from nst_tf.web import clips, gallery
from nst_tf.web.engines import load_gallery_style
from nst_tf.web.jobs import Job, JobQueue, QueueFull
from nst_tf.web.params import FIELDS, Limits, parse_method, parse_params

log = logging.getLogger("nst_tf")

STATIC = Path(__file__).parent / "static"
MIN_SIDE = 32  #: the smallest photo or painting accepted [px]
_NO_CACHE = {"Cache-Control": "no-store"}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_NO_CACHE)


class TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(request: Request, body: bytes) -> Request:
    """A request whose body is ``body`` (already read and size-checked)."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _decode(data: bytes, what: str):
    image = images.load_image_bytes(data, what)
    if min(image.shape[:2]) < MIN_SIDE:
        raise UserError(f"{what} is {image.shape[1]}x{image.shape[0]} px; use one at least {MIN_SIDE} px on each side")
    return image


def create_app(
    jobs: JobQueue, max_upload_bytes: int = 20 * 2**20, limits: Limits = Limits(), serving_models=None
) -> Starlette:
    """The application around ``jobs``; closing the app (lifespan end) closes the queue.
    ``serving_models``: a :class:`nst_tf.web.serving_api.ServingModels` to answer TF Serving's REST
    API for, or None."""
    mb = max_upload_bytes / 2**20

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_NO_CACHE)

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "limits": limits.describe(),
                "max_upload_mb": round(mb, 3),
                "models": jobs.engines.describe(),
                "jobs": jobs.counts(),
            },
            headers=_NO_CACHE,
        )

    async def styles(request: Request) -> Response:
        return JSONResponse([s.describe() for s in gallery.STYLES.values()])

    async def style_image(request: Request) -> Response:
        style = gallery.STYLES.get(request.path_params["name"])
        if style is None:
            return error(404, f"no style named {request.path_params['name']!r}; GET /api/styles lists them")
        return FileResponse(style.path, media_type="image/jpeg")

    async def submit(request: Request) -> Response:
        try:
            body = await _read_body(request, max_upload_bytes)
        except TooLarge:
            return error(
                413,
                f"the upload is over the {mb:g} MB limit; send smaller images "
                "(or start nst-web with a larger --max_upload_mb)",
            )
        except ClientDisconnect:
            return error(400, "the upload was interrupted")
        if "multipart/form-data" not in request.headers.get("content-type", ""):
            return error(400, "send the images as multipart/form-data (fields: content, style or style_name, method)")
        try:
            form = await _replay(request, body).form(max_files=2, max_fields=len(FIELDS))
        except HTTPException as exc:
            return error(400, f"the form could not be read: {exc.detail}")
        try:
            unknown = sorted(set(form.keys()) - set(FIELDS))
            if unknown:
                raise UserError(f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}")
            job = await run_in_threadpool(_make_job, form)
        except UserError as exc:
            return error(400, str(exc))
        finally:
            await form.close()
        try:
            jobs.submit(job)
        except QueueFull as exc:
            if job.clip is not None:
                job.clip.unlink(missing_ok=True)
            return error(429, str(exc))
        return JSONResponse(
            {"id": job.id, "state": job.state},
            status_code=202,
            headers={"Location": f"/api/jobs/{job.id}", **_NO_CACHE},
        )

    def _make_job(form) -> Job:
        content = form.get("content")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if not isinstance(content, UploadFile):
            raise UserError("no photo: send the photo (or a video's clip) as the file field 'content'")
        clip = None
        if parse_method(fields) == "video":
            clip, content_img, _ = clips.receive(content.file.read(), limits.max_video_seconds)
        else:
            content_img = _decode(content.file.read(), "the photo")
        try:
            style_img, name = _style(form)
            return Job(parse_params(fields, content_img.shape, limits), content_img, style_img, name, clip)
        except BaseException:
            if clip is not None:
                clip.unlink(missing_ok=True)
            raise

    def _style(form) -> tuple:
        style, name = form.get("style"), form.get("style_name")
        if isinstance(style, UploadFile) and name:
            raise UserError("send either a style file or a style_name, not both")
        if isinstance(style, UploadFile):
            style_img, name = _decode(style.file.read(), "the painting"), None
        elif style is not None:
            raise UserError("the field 'style' must be an image file; to use a bundled painting send style_name")
        elif name:
            if name not in gallery.STYLES:
                raise UserError(
                    f"no style named {name!r}; choose one of {', '.join(gallery.STYLES)} or send a style file"
                )
            style_img = load_gallery_style(name)
        else:
            raise UserError("no style: send a painting as the file field 'style' or a bundled style_name")
        return style_img, name

    def _job(request: Request) -> Job:
        job = jobs.get(request.path_params["id"])
        if job is None:
            raise LookupError(request.path_params["id"])
        return job

    async def status(request: Request) -> Response:
        job = _job(request)
        return JSONResponse(job.status(jobs.position(job)), headers=_NO_CACHE)

    async def preview(request: Request) -> Response:
        data = _job(request).preview
        if data is None:
            return error(404, "no intermediate image yet; it appears after the first steps")
        return Response(data, media_type="image/jpeg", headers=_NO_CACHE)

    async def result(request: Request) -> Response:
        job = _job(request)
        if job.state != "done":
            return error(409, f"the job is {job.state}; its result exists once GET /api/jobs/{job.id} says done")
        if job.result_path is None or not job.result_path.exists():
            return error(404, "the result was removed (the server keeps the newest ones only)")
        kind = "video/mp4" if job.result_path.suffix == ".mp4" else "image/png"
        name = f"nst_{job.params.method}_{job.id[:8]}{job.result_path.suffix}"
        return FileResponse(job.result_path, media_type=kind, filename=name)

    async def cancel(request: Request) -> Response:
        job = _job(request)
        if not jobs.cancel(job):
            return error(409, f"the job has already finished ({job.state}); nothing to cancel")
        return JSONResponse(job.status(), headers=_NO_CACHE)

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, LookupError):
            return error(
                404, f"no job {str(exc)!r}; it never existed, or the server was restarted or removed it to make room"
            )
        if request.url.path.startswith("/api/"):
            return error(exc.status_code, exc.detail)
        return Response(exc.detail, status_code=exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            await run_in_threadpool(jobs.close)

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/styles", styles),
        Route("/api/styles/{name}/image", style_image),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs/{id}", status, methods=["GET"]),
        Route("/api/jobs/{id}", cancel, methods=["DELETE"]),
        Route("/api/jobs/{id}/preview", preview),
        Route("/api/jobs/{id}/result", result),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if serving_models is not None:
        from nst_tf.web import serving_api

        routes += serving_api.routes(serving_models)
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={LookupError: not_found, HTTPException: not_found}
    )
