"""The counter station: officers at a page, e-gates and document readers over HTTP.

Modules, by job::

    accounts     who may use the station: operators (ID and PIN, lock-out after wrong PINs) and
                 integrating systems (an API key each), in the station's SQLite file
    service      what both faces share: the settings (StationConfig), the warm comparer (the
                 comparison service), the audit log per thread, rate limits, the error catalogue
    sessions     signed-in officers (idle expiry) and the traveller each is working on, in memory
    guidance     one instruction per camera frame from the live gates; faces at one scale
    keep         both images of a comparison kept for review, encrypted, purged after their days
    api          the HTTP API's router, for e-gates, document readers and review tools
    counter      the officers' page's router; static/ and locales/ hold the page and its text
    schemas      the reply models of both routers (``/api/docs`` shows them)
    views        what the page shows of a document, a face and a verdict
    app          both behind one gate (key or session, rates, origin) and the security headers
    serve        the address, TLS and the loud opt-out for plain HTTP beyond loopback

It compares through ``impostor.services.comparison`` and is served with the web kit
(``impostor.web``); it imports no other job.
"""
