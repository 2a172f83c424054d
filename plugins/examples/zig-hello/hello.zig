//! A WebAssembly plugin in Zig using the hie-tasks SDK: one selector and one check.
//! Build: hie-tasks plugins build plugins/examples/zig-hello
const hie = @import("hielements");

/// greeting(name) -> String "Hello, <name>!"
fn greeting(c: *hie.Ctx) callconv(.c) void {
    var name: [*:0]const u8 = undefined;
    if (hie.hie_arg_string(c, 0, &name) == 0) {
        hie.hie_error_str(c, "greeting requires a string argument");
        return;
    }
    var buf: [256]u8 = undefined;
    const prefix = "Hello, ";
    var n: usize = 0;
    for (prefix) |ch| {
        buf[n] = ch;
        n += 1;
    }
    var i: usize = 0;
    while (name[i] != 0 and n < buf.len - 2) : (i += 1) {
        buf[n] = name[i];
        n += 1;
    }
    buf[n] = '!';
    buf[n + 1] = 0;
    hie.hie_return_string(c, @ptrCast(&buf));
}

/// is_positive(n): Pass when n > 0.
fn is_positive(c: *hie.Ctx) callconv(.c) void {
    var n: c_longlong = 0;
    if (hie.hie_arg_int(c, 0, &n) == 0) {
        hie.hie_error_str(c, "is_positive requires a number argument");
    } else if (n > 0) {
        hie.hie_pass(c);
    } else {
        hie.hie_fail_str(c, "Expected a positive number");
    }
}

const name_param = [_]hie.Param{ .{ .name = "name", .type = "String", .description = "Who to greet" }, .{} };
const n_param = [_]hie.Param{ .{ .name = "n", .type = "Int", .description = "The number" }, .{} };

const selectors = [_]hie.Function{
    .{ .name = "greeting", .func = greeting, .description = "Greets by name", .params = &name_param, .return_type = "String" },
    .{},
};
const checks = [_]hie.Function{
    .{ .name = "is_positive", .func = is_positive, .description = "Passes when n > 0", .params = &n_param, .return_type = "CheckResult" },
    .{},
};

comptime {
    hie.exportPlugin(&.{
        .name = "zig_hello",
        .version = "0.1.0",
        .description = "Zig example plugin",
        .selectors = &selectors,
        .checks = &checks,
    });
}
