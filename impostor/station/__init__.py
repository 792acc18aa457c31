"""The counter station: officers at a page, e-gates and document readers over HTTP.

Modules, by job::

    hashing      PINs and API keys as salted slow hashes (scrypt), compared in constant time
    accounts     who may use the station: operators (ID and PIN, lock-out after wrong PINs) and
                 integrating systems (an API key each), in the station's SQLite file
    api          the HTTP API for e-gates, document readers and review tools (FastAPI)

The officers' page and the command that serves both are the next modules; this package uses the
core and the public face of ``impostor.qa``, never the insides of another sub-package.
"""
