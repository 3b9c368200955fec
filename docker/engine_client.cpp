#include "docker/engine_client.hpp"
