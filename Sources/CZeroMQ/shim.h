// The ZeroMQ C API (Debian's libzmq3-dev). Only the Cluster transport imports this module.
#pragma once
#include <zmq.h>
