"""One service per thing a user does; the command line, the station's API and its page call them
and none of them puts the steps together itself.

Modules, by job::

    comparison   compare a document with a traveller: read it, find its portrait once, one
                 profile rule, one audit sink (``Comparer``, ``Comparison``)
    three_way    an e-passport's three portraits: the chip's decides, the page's and its ghosts
                 are compared with it; the chip's checks (``ChipChecks``); reading it on a reader
    audit_sink   where comparisons are logged (``AuditSink``, ``LogSink``)
    backoffice   many comparisons from a CSV list for a back-office review, through a ``Comparer``
"""
