"""Running the stack as operators do: the scaled stack (ops.scaled) and its nginx config."""
