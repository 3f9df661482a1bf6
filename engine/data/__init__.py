"""What the user brings: image folders, text tables and the datasets made of them.

Reading tables (``tables``), walking folders (``files``), decoding images
(``images``, ``gpu_decode``, ``image_pool``), text inputs and their language,
datasets with their splits, projects, and the result files a classify run
writes. It knows nothing of models or checks; it imports only ``engine.core``.
"""
