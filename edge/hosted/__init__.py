"""The Roboflow Serverless Hosted API v1 as a fallback for when local capacity runs out."""
