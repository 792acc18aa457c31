"""Scored face-matching practice for trainers: build sets, serve them in a browser, report.

Modules, by job::

    selection  choose pairs by embedding distance (hard, mixed, easy), leaving out doubtful labels
    build      embed a folder of people, choose pairs, render documents, write the set
    document   render a photo as a travel-document portrait
    sets       the portable set file (JSON) and packing a set with its images
    store      trainees' sessions and answers in SQLite
    scoring    hit rate, false-accept rate, d′ and c, confidence and speed
    i18n       the page's text catalogues and language negotiation
    server     the web app (FastAPI) trainees use
    report     the trainer's HTML report
    export     every session and answer as CSV, in local time
    items      item analysis: which pairs fool trainees, how sure they were, the algorithm's view

Importing this package loads nothing heavy; the modules are imported by whoever needs them.
"""
