#!/usr/bin/env bash
# Rebuilds examples/gallery.jpg, the feature overview in README (about 6 minutes on 2 CPU cores).
# Run from the repository root after `pip install -e ".[all]"`.
set -euo pipefail
out=outputs/gallery
common=(--content=examples/content/chelsea.jpg --size=256 --steps=120 --backbone=vgg16 --weights=hed --overwrite)
nst-stylize "${common[@]}" --style=examples/style/great_wave.jpg --output=$out/plain.jpg
nst-stylize "${common[@]}" --style=examples/style/great_wave.jpg --preserve_colors=luminance --output=$out/luminance.jpg
nst-stylize "${common[@]}" --style=examples/style/great_wave.jpg --preserve_colors=histogram --output=$out/histogram.jpg
nst-stylize "${common[@]}" --style=examples/style/great_wave.jpg,examples/style/the_scream.jpg \
    --style_weights=0.5,0.5 --output=$out/two_styles.jpg
nst-stylize "${common[@]}" --style=examples/style/great_wave.jpg --optimizer=lbfgs --steps=60 --size=512 \
    --scales=2 --output=$out/multiscale_512.jpg
python - <<'PY'
from nst_tf import images
g = "outputs/gallery/"
rows = [["examples/content/chelsea.jpg", "examples/style/great_wave.jpg", "examples/style/the_scream.jpg", None],
        [g + "plain.jpg", g + "luminance.jpg", g + "histogram.jpg", g + "two_styles.jpg"]]
images.save_image(images.contact_sheet(rows, cell=240, pad=4), "examples/gallery.jpg", overwrite=True, quality=88)
images.save_image(images.load_image(g + "multiscale_512.jpg"), "examples/multiscale_512.jpg", overwrite=True, quality=88)
print("wrote examples/gallery.jpg and examples/multiscale_512.jpg")
PY

# Batch: every content x every style, with the contact sheet and manifest; plus a loss curve.
nst-stylize --content=examples/content --style=examples/style/starry_night.jpg,examples/style/great_wave.jpg \
    --output=$out/batch --size=192 --steps=80 --backbone=vgg16 --weights=hed --overwrite \
    --logdir=$out/logs
cp $out/batch/sheet.jpg examples/batch_sheet.jpg
cp $out/logs/chelsea__great_wave/loss_curve.png examples/loss_curve.png
echo "wrote examples/batch_sheet.jpg and examples/loss_curve.png"
