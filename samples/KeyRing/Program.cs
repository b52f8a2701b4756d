// EmbeddedChroma key ring sample: an admin creates a read-only query key for one collection; a write with
// that key is denied; the key is rotated with a grace period, then the old one is revoked.
// Runs in a fresh temporary store each time and deletes it at the end.
using EmbeddedChroma;

var folder = Path.Combine(Path.GetTempPath(), "embeddedchroma-keyring-sample-" + Guid.NewGuid().ToString("N"));
try
{
    using var store = ChromaStore.Create(folder, out var adminKey);
    var admin = store.Authenticate(adminKey);
    var books = store.GetClient(admin).CreateCollection("books");
    books.Add(["dune", "emma"], [[0.9f, 0.1f], [0.1f, 0.9f]], documents: ["sand and spice", "a matchmaker"]);

    // 1. The admin mints a narrow key: query (and count) on one collection, for 30 days, 50 calls/s.
    var ring = store.GetKeyRing(admin);
    var created = ring.CreateKey(new ApiKeySpec
    {
        Name = "web search handler",
        Resources = ["default_tenant/default_database/books"],
        Actions = [ChromaActions.Query, ChromaActions.Count],
        ExpiresAt = DateTimeOffset.UtcNow.AddDays(30),
        RateLimit = new ApiKeyRateLimit(PermitsPerSecond: 50, Burst: 100),
    });
    Console.WriteLine($"Created {created.Info.Display} ('{created.Info.Name}'): {string.Join(", ", created.Info.Actions)} on {string.Join(", ", created.Info.Resources)}");

    // 2. The handler authenticates from an HTTP header and queries.
    var handler = store.AuthenticateHeader("Bearer " + created.Key);
    var readOnly = store.GetClient(handler).GetCollection("books");
    var hits = readOnly.Query([[1f, 0f]], nResults: 1);
    Console.WriteLine($"Query with the narrow key: nearest is '{hits.Ids[0][0]}'.");

    // 3. A write with the narrow key is denied, naming the missing action.
    try
    {
        readOnly.Add(["persuasion"], [[0.2f, 0.8f]]);
    }
    catch (ChromaAuthorizationException denied)
    {
        Console.WriteLine($"Write denied: {denied.Message}");
    }

    // 4. Rotation: a successor with the same scope; the old key keeps working for a grace period.
    var successor = ring.RotateKey(created.Info.KeyId, gracePeriod: TimeSpan.FromMinutes(10));
    Console.WriteLine($"Rotated to {successor.Info.Display}; old key state: {ring.GetKey(created.Info.KeyId).State}.");
    Console.WriteLine($"Old key still counts during the grace period: {readOnly.Count()} records.");

    // 5. Revocation takes effect on the very next call, even for objects obtained before it.
    ring.RevokeKey(created.Info.KeyId);
    try
    {
        readOnly.Count();
    }
    catch (ChromaAuthenticationException)
    {
        Console.WriteLine("After revocation the old key fails on its next call.");
    }

    var fresh = store.GetClient(store.Authenticate(successor.Key)).GetCollection("books");
    Console.WriteLine($"The successor works: {fresh.Count()} records.");

    // 6. Watching usage and the audit log (no secrets in either).
    var usage = ring.GetUsage(created.Info.KeyId);
    foreach (var ((action, outcome), count) in usage.Counts.OrderBy(c => c.Key.Action))
    {
        Console.WriteLine($"  usage of the old key: {action,-24} {outcome,-16} {count}");
    }

    Console.WriteLine($"Audit log: {ring.ReadAudit().Count} entries, chain valid: {ring.VerifyAudit().IsValid}.");
}
finally
{
    if (Directory.Exists(folder))
    {
        Directory.Delete(folder, recursive: true);
    }
}
