"""A real MCP server (the `mcp` package's MCPServer, Streamable HTTP) for the MCP tool tests.

Usage: python mcp_weather_server.py PORT  (binds 127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import sys

from mcp.server.mcpserver import MCPServer

app = MCPServer("weather")


@app.tool()
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny and 21 degrees in {city}"


@app.tool()
def broken_station(city: str) -> str:
    """A weather station that is offline."""
    raise ValueError(f"the weather station in {city} is offline")


@app.tool()
async def slow_forecast(city: str) -> str:
    """A forecast that takes a minute."""
    await asyncio.sleep(60)
    return "rain"


if __name__ == "__main__":
    app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
