"""nst-web: the local web app's server."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nst_tf.config.options import (
    BACKBONES,
    PRECISIONS,
    check_choice,
    check_numbers,
    check_strings,
    option,
)
from nst_tf.errors import UserError


@dataclass(frozen=True)
class WebConfig:
    """The ``nst-web`` server. Each field is a flag of that command."""

    host: str = option(
        "127.0.0.1",
        "Address to listen on. The default serves this computer only; 0.0.0.0 opens it "
        "to the network (there is no login).",
    )
    port: int = option(8765, "Port to listen on (0: any free port).")
    max_upload_mb: float = option(20.0, "Largest request (photo plus painting) accepted.", unit="MB")
    queue_size: int = option(8, "Jobs that may wait at once; more are refused with HTTP 429.")
    keep_results: int = option(50, "Finished jobs kept with their images; the oldest go first.")
    results_dir: str = option(
        "",
        "Folder where results are kept across restarts (default: nst_tf/web-results under the user's "
        "data folder, $XDG_DATA_HOME or ~/.local/share); 'temp': a temporary folder removed on exit.",
    )
    results_max_mb: float = option(1000.0, "Most disk space the kept results may take; the oldest go first.", unit="MB")
    open_browser: bool = option(False, "Open the page in the default web browser once the server is up.")
    backbone: str = option("vgg19", "Feature network for paint jobs: vgg19 or vgg16.", choices=BACKBONES)
    weights: str = option("auto", "Its weights: auto, imagenet, hed (offline VGG16) or a path to an .h5 file.")
    precision: str = option(
        "auto", "Compute precision of both networks (auto: chosen for the device).", choices=PRECISIONS
    )
    instant_weights: str = option(
        "published",
        "Any-style network weights: published (Magenta's) or a folder with "
        "predict.weights.h5 and transfer.weights.h5 (or a training workdir).",
    )

    serving_models: str = option(
        "",
        "A folder of nst-export SavedModels (NAME/VERSION/, as TF Serving loads them) to answer TF "
        "Serving's REST API for: POST /v1/models/NAME:predict (empty: off).",
    )

    def __post_init__(self):
        check_strings(
            self, ("host", "backbone", "weights", "precision", "instant_weights", "results_dir", "serving_models")
        )
        if not self.host.strip():  # an empty host would listen on every interface
            raise UserError("host must be an address, e.g. 127.0.0.1 (this computer only) or 0.0.0.0 (the network)")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise UserError(f"port must be 0..65535, got {self.port!r}")
        check_numbers(self, positive=("max_upload_mb", "queue_size", "keep_results", "results_max_mb"))
        for name in ("queue_size", "keep_results"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise UserError(f"{name} must be a whole number, got {getattr(self, name)!r}")
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> "WebConfig":
        return dataclasses.replace(self, **changes)
