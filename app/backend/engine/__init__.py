"""The engine: llama.cpp in a supervised child process, and the client that talks to it."""
