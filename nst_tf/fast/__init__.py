"""Fast style transfer (Johnson, Alahi & Fei-Fei, 2016): a feed-forward network per style.

``transformer`` holds the image transformation network, ``data`` the photo pipeline,
``train`` the training loop and ``export`` the SavedModel / TFLite exports.
"""
