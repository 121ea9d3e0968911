// Placeholder so the library has a source until the module lands.
namespace mydock { int registry_placeholder = 0; }
