//! A hie-tasks WebAssembly plugin in Zig. Build: hie-tasks plugins build .
const hie = @import("hielements");

/// min_args(n): Pass when n >= 1 (replace with your own checks).
fn at_least_one(c: *hie.Ctx) callconv(.c) void {
    var n: c_longlong = 0;
    if (hie.hie_arg_int(c, 0, &n) == 0) {
        hie.hie_error_str(c, "at_least_one requires a number argument");
    } else if (n >= 1) {
        hie.hie_pass(c);
    } else {
        hie.hie_fail_str(c, "Expected at least one");
    }
}

const n_param = [_]hie.Param{ .{ .name = "n", .type = "Int", .description = "A count" }, .{} };
const checks = [_]hie.Function{
    .{ .name = "at_least_one", .func = at_least_one, .description = "Passes when n >= 1", .params = &n_param, .return_type = "CheckResult", .example = "check my_plugin.at_least_one(3)" },
    .{},
};

comptime {
    hie.exportPlugin(&.{ .name = "my_plugin", .version = "0.1.0", .description = "A hie-tasks plugin written in Zig", .checks = &checks });
}
