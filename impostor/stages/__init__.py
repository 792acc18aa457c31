"""The verification stages, one module each, importing only the foundation and the engine, never
each other (a stage's private helpers, ``_quality_measures`` say, belong to it).

Modules, in the order a comparison runs them::

    capture     read an image, a clip or a camera frame, bounded before decoding
    detect      find faces (the backends are ``impostor.engine.detectors``)
    align       five landmarks and the 150 px chip dlib's network expects
    quality     a table of measures, each with its limit, score and advice
    embed       the 128-d embedding (ONNX Runtime or dlib), in a worker pool on request
    score       the one distance between embeddings
    calibrate   distances to probabilities (logistic, isotonic)
    decide      MATCH, NO_MATCH or REFER with reasons
"""
