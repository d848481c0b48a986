"""MNIST Lab's tests: real MNIST, real Keras on small subsets, the real server in Debian's chromium."""
