"""One service per thing a user does; the command line, the station's API and its page call them
and none of them puts the steps together itself.

Modules, by job::

    comparison   compare a document with a traveller: read it, find its portrait once, one
                 profile rule, one audit sink (``Comparer``, ``Comparison``)
    backoffice   many comparisons from a CSV list for a back-office review, through a ``Comparer``
"""
