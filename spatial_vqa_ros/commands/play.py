"""`spatial-vqa play BAG`: replay a rosbag2 onto live topics (no `ros2 bag` needed)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading


def _remap(text: str) -> tuple[str, str]:
    source, sep, target = text.partition(":=")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"expected FROM:=TO, got {text!r}")
    return source, target


def run(args: argparse.Namespace, ros_args: list[str]) -> int:
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from ..io.bags import BagTopics
    from ..io.errors import DataIOError
    from ..nodes.player import BagPlayer, PlayOptions

    try:
        options = PlayOptions(
            rate=args.rate, loop=args.loop, topics=tuple(args.topics or ()),
            best_effort=args.best_effort, qos_depth=args.qos_depth,
            latched_topics=(BagTopics().labels, *args.latch), remap=tuple(args.remap),
            max_loops=args.max_loops, restamp_loops=not args.keep_stamps)
    except DataIOError as error:
        print(f"spatial-vqa play: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    paused = threading.Event()

    def request_stop(signum, frame) -> None:  # Ctrl-C / SIGTERM: finish cleanly
        stop.set()
        if paused.is_set():
            raise KeyboardInterrupt  # interrupts the wait for Enter

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    # rclpy's own handlers would shut the context down under our feet.
    rclpy.init(args=["spatial_vqa_play", *ros_args],
               signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("spatial_vqa_player")
    try:
        try:
            player = BagPlayer(node, args.bag, options,
                               warn=lambda text: print(f"warning: {text}", file=sys.stderr))
        except DataIOError as error:
            print(f"spatial-vqa play: {error}", file=sys.stderr)
            return 2
        played = ", ".join(f"{t} -> {o}" if t != o else t
                           for t, o in player.output_topics.items())
        print(f"playing {args.bag} at rate {args.rate:g}{' (loop)' if args.loop else ''}: "
              f"{played}", file=sys.stderr, flush=True)
        if args.wait_for_subscribers > 0:
            waiting = player.wait_for_subscribers(args.wait_for_subscribers, stop=stop)
            if waiting:
                print(f"no subscriber yet on {', '.join(waiting)}; starting anyway",
                      file=sys.stderr, flush=True)
        if args.start_paused and not stop.is_set():
            print("paused: press Enter to start", file=sys.stderr, flush=True)
            paused.set()
            with contextlib.suppress(KeyboardInterrupt):
                sys.stdin.readline()
            paused.clear()
        summary = player.play(stop)
        player.close()  # waits until subscribers acknowledged the last messages
        print(summary.text(), flush=True)
        return 0 if sum(summary.published.values()) or summary.interrupted else 1
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "play", help="replay a rosbag2 (sqlite3 or mcap) onto live topics",
        description="Replay a rosbag2 by publishing its serialized messages with the "
        "recorded timing (log times) scaled by --rate; no `ros2 bag` needed. QoS: reliable, "
        "depth 10 (--best-effort, --qos-depth); the labels topic and --latch topics are "
        "transient local, so late subscribers get the latest. Topics whose message type "
        "is not installed are skipped with a warning. Ctrl-C stops cleanly and prints the "
        "summary. ROS arguments go after --ros-args. Exit status: 0 played (or stopped "
        "by Ctrl-C), 1 nothing could be published, 2 bad input (no such bag, a bad "
        "option; the reason on stderr).")
    parser.add_argument("bag", help="rosbag2 directory (or a .db3 / .mcap file)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="speed factor: 2 plays twice as fast (default 1)")
    parser.add_argument("--loop", action="store_true", help="replay until stopped")
    parser.add_argument("--max-loops", type=int, default=0,
                        help="with --loop, stop after this many passes (default 0: forever)")
    parser.add_argument("--keep-stamps", action="store_true",
                        help="with --loop, replay the recorded header stamps on every pass "
                        "(default: later passes are shifted so stamps keep increasing)")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="play only these topics (default: all)")
    parser.add_argument("--best-effort", action="store_true",
                        help="publish best effort instead of reliable")
    parser.add_argument("--qos-depth", type=int, default=10, help="keep-last depth (default 10)")
    parser.add_argument("--latch", nargs="+", default=[], metavar="TOPIC",
                        help="more topics to publish transient local (besides the labels)")
    parser.add_argument("--remap", nargs="+", type=_remap, default=[], metavar="FROM:=TO",
                        help="publish bag topic FROM on topic TO")
    parser.add_argument("--wait-for-subscribers", type=float, default=0.0, metavar="SECONDS",
                        help="before starting, wait up to this long until every played "
                        "topic has a subscriber (default 0: start at once)")
    parser.add_argument("--start-paused", action="store_true",
                        help="wait for Enter on stdin before publishing")
    parser.set_defaults(run=run)
