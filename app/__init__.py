"""The composition root, above every layer: the ``kg`` command (``app.main``), the one
builder of a database's objects (``app.workspace``), the server and its watcher
(``app.serve``, ``app.watch``) and CLI commands forwarded to a running server (``app.remote``)."""
