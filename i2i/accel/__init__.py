"""Devices and speed: device choice, precision, and small convolutions on the CPU as one GEMM."""
