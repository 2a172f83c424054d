//! Zig bindings to the hie-tasks C SDK (plugins/sdk/c/hielements.h), ABI 1.
//!
//! Zig 0.15+ has no @cImport, and translate-c cannot carry the SDK's printf-style helpers, so this file
//! declares the SDK's C interface by hand and `hielements_impl.c` (built alongside by `hie-tasks plugins
//! build`) supplies the implementation. A plugin defines its tables and calls `exportPlugin` once:
//!
//!     const hie = @import("hielements");
//!     fn always_pass(c: *hie.Ctx) callconv(.c) void { hie.hie_pass(c); }
//!     const checks = [_]hie.Function{ .{ .name = "always_pass", .func = always_pass }, .{} };
//!     comptime { hie.exportPlugin(&.{ .name = "demo", .version = "0.1.0", .checks = &checks }); }

/// The call in progress (opaque: use the accessors).
pub const Ctx = opaque {};
/// One argument Value as parsed JSON (opaque: read it with the hie_value_* accessors).
pub const Json = opaque {};

pub const Param = extern struct {
    name: ?[*:0]const u8 = null,
    type: ?[*:0]const u8 = null,
    description: ?[*:0]const u8 = null,
};

pub const Function = extern struct {
    name: ?[*:0]const u8 = null,
    func: ?*const fn (*Ctx) callconv(.c) void = null,
    description: ?[*:0]const u8 = null,
    /// Terminated by an empty Param (`.{}`); null for none.
    params: ?[*]const Param = null,
    return_type: ?[*:0]const u8 = null,
    example: ?[*:0]const u8 = null,
};

pub const Plugin = extern struct {
    name: [*:0]const u8,
    version: [*:0]const u8,
    description: ?[*:0]const u8 = null,
    /// Terminated by an empty Function (`.{}`); null for none.
    selectors: ?[*]const Function = null,
    checks: ?[*]const Function = null,
};

pub extern fn hie_arg_string(c: *const Ctx, i: usize, out: *[*:0]const u8) c_int;
pub extern fn hie_arg_int(c: *const Ctx, i: usize, out: *c_longlong) c_int;
pub extern fn hie_arg_float(c: *const Ctx, i: usize, out: *f64) c_int;
pub extern fn hie_arg_bool(c: *const Ctx, i: usize, out: *c_int) c_int;
pub extern fn hie_pass(c: *Ctx) void;
pub extern fn hie_fail_str(c: *Ctx, msg: [*:0]const u8) void;
pub extern fn hie_error_str(c: *Ctx, msg: [*:0]const u8) void;
pub extern fn hie_return_string(c: *Ctx, s: [*:0]const u8) void;
pub extern fn hie_return_int(c: *Ctx, v: c_longlong) void;
pub extern fn hie_return_bool(c: *Ctx, v: c_int) void;
pub extern fn hie_add_dep(c: *Ctx, path: [*:0]const u8) void;
pub extern fn hie_dispatch(p: *const Plugin, is_check: c_int, req: [*]const u8, len: i32) u64;
pub extern fn hie_metadata(p: *const Plugin) u64;
pub extern fn hie_doc(p: *const Plugin) u64;
extern fn malloc(size: usize) ?*anyopaque;
extern fn free(ptr: ?*anyopaque) void;

/// Defines the ABI exports (alloc, dealloc, hielements_abi_version, library_call, library_check,
/// library_metadata, library_doc) for `plugin`. Call inside a `comptime` block, once.
pub fn exportPlugin(comptime plugin: *const Plugin) void {
    const E = struct {
        fn alloc(size: i32) callconv(.c) ?*anyopaque {
            return malloc(@intCast(@max(size, 1)));
        }
        fn dealloc(ptr: ?*anyopaque, size: i32) callconv(.c) void {
            _ = size;
            free(ptr);
        }
        fn abiVersion() callconv(.c) i32 {
            return 1;
        }
        fn call(req: [*]const u8, len: i32) callconv(.c) u64 {
            return hie_dispatch(plugin, 0, req, len);
        }
        fn check(req: [*]const u8, len: i32) callconv(.c) u64 {
            return hie_dispatch(plugin, 1, req, len);
        }
        fn metadata() callconv(.c) u64 {
            return hie_metadata(plugin);
        }
        fn doc() callconv(.c) u64 {
            return hie_doc(plugin);
        }
    };
    @export(&E.alloc, .{ .name = "alloc" });
    @export(&E.dealloc, .{ .name = "dealloc" });
    @export(&E.abiVersion, .{ .name = "hielements_abi_version" });
    @export(&E.call, .{ .name = "library_call" });
    @export(&E.check, .{ .name = "library_check" });
    @export(&E.metadata, .{ .name = "library_metadata" });
    @export(&E.doc, .{ .name = "library_doc" });
}
