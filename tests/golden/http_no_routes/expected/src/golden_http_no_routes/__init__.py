"""The golden_http_no_routes service."""
