"""One ipykernel for one notebook, driven over stdin/stdout in JSON lines.

Why a Python bridge: the kernel protocol is ZeroMQ, and Node's ZeroMQ binding is a native
module we would have to compile into the image; jupyter_client (already a dependency of
ipykernel) speaks it for us. The extension's notebook controller (kernel-bridge.js) starts one
bridge per open notebook with the image's interpreter, so the kernel is that interpreter.

In (one JSON object a line): {"op": "execute", "id": N, "code": "..."}, {"op": "interrupt"},
{"op": "restart"}, {"op": "shutdown"}.
Out: {"type": "ready"}, {"type": "output", "id": N, "output": <nbformat output>},
{"type": "clear", "id": N, "wait": bool}, {"type": "done", "id": N, "status": "ok"|"error"|
"aborted", "execution_count": K}, {"type": "restarted"}, {"type": "fatal", "message": "..."}.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from typing import Any

OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}


def protocol_stream() -> Any:
    """The messages' own copy of stdout, and file descriptor 1 sent to stderr: the kernel is
    a child of this process and inherits fd 1, where a cell's C-level writes
    (``os.system``, a compiled library's printf) also land; on the protocol stream they broke
    the extension's JSON reader."""
    stream = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return stream


PROTOCOL: Any = sys.stdout


def send(message: dict[str, Any]) -> None:
    PROTOCOL.write(json.dumps(message) + "\n")
    PROTOCOL.flush()


def to_output(msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """An iopub message as the nbformat output it becomes in a saved notebook."""
    if msg_type == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if msg_type == "error":
        return {"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                "traceback": content["traceback"]}
    output = {"output_type": msg_type, "data": content["data"],
              "metadata": content.get("metadata", {})}
    if msg_type == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output


class Bridge:
    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel()
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.generation = 0  # bumped by a restart: a cell waiting on the old kernel stops
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def run_cell(self, job: dict[str, Any]) -> None:
        generation = self.generation
        msg_id = self.client.execute(job["code"], allow_stdin=False)
        status, count = "aborted", None
        while generation == self.generation:
            try:
                msg = self.client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in OUTPUT_TYPES:
                send({"type": "output", "id": job["id"], "output": to_output(kind, content)})
            elif kind == "clear_output":
                send({"type": "clear", "id": job["id"], "wait": content.get("wait", False)})
            elif kind == "status" and content["execution_state"] == "idle":
                reply = self.client.get_shell_msg(timeout=10)
                status = reply["content"]["status"]
                count = reply["content"].get("execution_count")
                break
        send({"type": "done", "id": job["id"], "status": status, "execution_count": count})

    def worker(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.run_cell(job)

    def drop_queued(self) -> None:
        """Cells queued for a kernel that goes away end as aborted, as in Jupyter."""
        while not self.jobs.empty():
            job = self.jobs.get_nowait()
            if job is not None:
                send({"type": "done", "id": job["id"], "status": "aborted",
                      "execution_count": None})

    def restart(self) -> None:
        self.generation += 1
        self.drop_queued()
        self.manager.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=60)
        send({"type": "restarted"})

    def serve(self) -> None:
        thread = threading.Thread(target=self.worker, daemon=True)
        thread.start()
        send({"type": "ready"})
        for line in sys.stdin:
            request = json.loads(line)
            op = request.get("op")
            if op == "execute":
                self.jobs.put(request)
            elif op == "interrupt":
                self.manager.interrupt_kernel()
            elif op == "restart":
                self.restart()
            elif op == "shutdown":
                break
        self.generation += 1
        self.drop_queued()
        self.jobs.put(None)
        thread.join(timeout=5)  # the running cell's loop ends at its next poll
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def main() -> int:
    global PROTOCOL
    PROTOCOL = protocol_stream()
    try:
        bridge = Bridge()
    except Exception as exc:  # told to the student in one line, not a traceback
        send({"type": "fatal", "message": f"cannot start an ipykernel: {exc}"})
        return 1
    bridge.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
