"""Model families behind the perception seams: one module per family (transformers).

Each adapter is built around a loaded model and its processor (``from_pretrained`` of a
local directory: weights never download at run time, ``trust_remote_code`` stays off),
and implements one seam of :mod:`spatial_vqa_ros.perception.protocols`. torch and
transformers are imported when a family is loaded, not when this package is.
"""
