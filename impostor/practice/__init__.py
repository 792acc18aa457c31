"""Scored face-matching practice for trainers: build sets, serve them in a browser, report.

Modules, by job::

    selection  choose pairs by embedding distance (hard, mixed, easy) or what trainees missed,
               leaving out doubtful labels
    build      embed a folder of people, choose pairs, render documents, write the set; swaps
    known      people trainees are likely to recognise (a shipped list, and a trainer's)
    preview    a page of a set's pairs for the trainer, and edits (drop, swap)
    sets       the portable set file (JSON) and packing a set with its images
    store      trainees' sessions and answers in SQLite
    classroom  the roster and its codes, sets assigned to classes, the trainer's PIN and live view
    scoring    hit rate, false-accept rate, d′ and c, confidence and speed
    i18n       the page's text catalogues and language negotiation
    server     the web app (FastAPI) trainees use
    report     the trainer's HTML report
    export     every session and answer as CSV, in local time
    items      item analysis: which pairs fool trainees, how sure they were, the algorithm's view

Importing this package loads nothing heavy; the modules are imported by whoever needs them.
"""
