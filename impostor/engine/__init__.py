"""The machinery under the stages: dlib's networks, their weights and how they are read, converted
and run.

Modules::

    weights      dlib's model files, located and loaded once, on first use
    dlib_dat     the grammar every dlib ``.dat`` network file shares
    resnet_dat   dlib's face network read layer by layer
    resnet_onnx  that network built as an ONNX graph (the embedding engine)
    mmod_dat     dlib's CNN face detector read layer by layer
    mmod_onnx    that detector as an ONNX graph, with the search it runs
    graphs       the cache of ONNX graphs built from the weights files
    detectors    the face detectors, one class per backend, chosen once by name

Nothing here is loaded at import: each model is read when first asked for.
"""
