"""MNIST Lab's engine: data, configs, models, training, the run store, evaluation and prediction.

Importing the package is cheap: TensorFlow is imported only by the modules that need it (model, training,
evaluation's callers, predict), so a dashboard page or a `runs` listing starts fast. It never imports streamlit.
"""

__version__ = "0.1.0"
