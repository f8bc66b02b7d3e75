"""Thin rclpy adapters: subscribe, convert, call the core, publish and serve.

Importing this package needs rclpy and the built interfaces (colcon build).
"""
