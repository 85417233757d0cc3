"""nnzoo with other tools: ONNX export (:mod:`nnzoo.interop.onnx`) and plain arrays in and out,
the scikit-learn way (:mod:`nnzoo.interop.arrays`)."""
