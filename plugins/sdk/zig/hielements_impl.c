/* The C SDK's helpers compiled once as ordinary (hidden, so never exported) functions, for plugins written
 * in languages that link against them instead of including the header — see hielements.zig. */
#define HIE_API __attribute__((visibility("hidden")))
#include "../c/hielements.h"
