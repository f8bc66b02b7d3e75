"""`make demo`: start the spatial node and ask it a question over DDS.

Grows into the full demo (synthetic bag played into the node, answers checked
against ground truth) as the package grows.
"""

from __future__ import annotations

import subprocess
import sys
import time


def main() -> int:
    import rclpy

    from spatial_vqa_ros.srv import QuerySpatial

    node = subprocess.Popen([sys.executable, "-m", "spatial_vqa_ros.cli", "node",
                             "--ros-args", "-r", "__ns:=/demo"])
    try:
        rclpy.init()
        client_node = rclpy.create_node("demo_client")
        client = client_node.create_client(QuerySpatial, "/demo/spatial_vqa/query")
        deadline = time.monotonic() + 30
        while not client.wait_for_service(timeout_sec=0.5):
            if time.monotonic() > deadline or node.poll() is not None:
                print("the spatial node did not come up", file=sys.stderr)
                return 1
        question = "how far is the mug from the chair?"
        future = client.call_async(QuerySpatial.Request(question=question))
        rclpy.spin_until_future_complete(client_node, future, timeout_sec=10)
        reply = future.result()
        print(f"Q: {question}\nA: success={reply.success} answer={reply.answer!r}")
        client_node.destroy_node()
        rclpy.shutdown()
        return 0
    finally:
        node.terminate()
        node.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
