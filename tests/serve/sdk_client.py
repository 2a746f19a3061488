"""Run by the inference-sdk's own interpreter (``.venv-sdk``), never imported by the tests:
``python sdk_client.py API_URL API_KEY MODEL_ID=IMAGE ...`` prints one JSON answer per line."""

import json
import sys

from inference_sdk import InferenceHTTPClient


def main() -> None:
    api_url, api_key, *jobs = sys.argv[1:]
    client = InferenceHTTPClient(api_url=api_url, api_key=api_key).select_api_v0()
    for job in jobs:
        model_id, image = job.split("=", 1)
        print(json.dumps(client.infer(image, model_id=model_id)), flush=True)


if __name__ == "__main__":
    main()
