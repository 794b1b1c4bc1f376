"""Write the Docker and Kubernetes (GPU) work-pool templates from Prefect's own defaults.

    python deployments/work-pools/build_templates.py

Starts from the base job templates that the installed Prefect ships for each worker type (no
network needed) and adds what textcls jobs need: the project image, offline Hugging Face
settings, an artifact volume (Docker) and a GPU request with node selection (Kubernetes). The
JSON files beside this script are its output; regenerate them after upgrading Prefect.

    prefect work-pool create textcls-docker --type docker \\
        --base-job-template deployments/work-pools/docker.json
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import prefect

HERE = Path(__file__).resolve().parent
IMAGE = "textcls:latest"
TEXTCLS_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "TEXTCLS_PROJECT_DIR": "/opt/textcls",
}


def defaults(worker_type: str) -> dict[str, Any]:
    views = Path(prefect.__file__).parent / "server/api/collections_data/views"
    metadata = json.loads((views / "aggregate-worker-metadata.json").read_text())
    for workers in metadata.values():
        if worker_type in workers:
            template: dict[str, Any] = workers[worker_type]["default_base_job_configuration"]
            return copy.deepcopy(template)
    raise SystemExit(f"Prefect ships no default template for {worker_type!r}")


def set_default(template: dict[str, Any], name: str, value: Any) -> None:
    template["variables"]["properties"][name]["default"] = value


def docker() -> dict[str, Any]:
    template = defaults("docker")
    set_default(template, "image", IMAGE)
    set_default(template, "env", TEXTCLS_ENV)
    # artifacts, registry and data outlive the container
    set_default(template, "volumes", ["/srv/textcls:/srv/textcls"])
    set_default(template, "mem_limit", "16g")
    set_default(template, "auto_remove", True)
    return template


def kubernetes_gpu() -> dict[str, Any]:
    template = defaults("kubernetes")
    set_default(template, "image", IMAGE)
    set_default(template, "env", TEXTCLS_ENV)
    set_default(template, "namespace", "textcls")
    properties = template["variables"]["properties"]
    properties["gpu_count"] = {
        "title": "GPUs",
        "description": "nvidia.com/gpu to request for the training job",
        "type": "integer",
        "default": 1,
    }
    properties["gpu_node_selector"] = {
        "title": "GPU node selector",
        "description": "Labels of the nodes that have the GPUs",
        "type": "object",
        "default": {"nvidia.com/gpu.present": "true"},
    }
    properties["artifact_claim"] = {
        "title": "Artifact volume claim",
        "description": "PersistentVolumeClaim mounted at /srv/textcls (artifacts, registry)",
        "type": "string",
        "default": "textcls-artifacts",
    }
    pod = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["resources"] = {
        "limits": {"nvidia.com/gpu": "{{ gpu_count }}"},
        "requests": {"nvidia.com/gpu": "{{ gpu_count }}"},
    }
    container["volumeMounts"] = [{"name": "artifacts", "mountPath": "/srv/textcls"}]
    pod["nodeSelector"] = "{{ gpu_node_selector }}"
    pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    pod["volumes"] = [
        {"name": "artifacts", "persistentVolumeClaim": {"claimName": "{{ artifact_claim }}"}}
    ]
    return template


def main() -> None:
    for name, template in (("docker", docker()), ("kubernetes-gpu", kubernetes_gpu())):
        path = HERE / f"{name}.json"
        path.write_text(json.dumps(template, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
