"""``nst-web``: a local web app and JSON API for stylising photos.

- :mod:`nst_tf.web.gallery`: the bundled paintings a user can pick by name.
- :mod:`nst_tf.web.engines`: the networks, built once per server, and the two ways of running a job.
- :mod:`nst_tf.web.jobs`: jobs, their bounded queue and the worker threads.
- :mod:`nst_tf.web.app`: the Starlette application (HTTP API and the page in ``static/``).

Only :mod:`nst_tf.web.app` needs the ``web`` extra (``pip install -e ".[web]"``).
"""
