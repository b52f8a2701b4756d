using System.Collections.Frozen;

namespace EmbeddedChroma;

/// <summary>
/// The actions an API key may be granted, in ChromaDB's vocabulary (<c>tenant:…</c>, <c>db:…</c>,
/// <c>collection:…</c>), plus <c>system:…</c> for store-wide calls and <c>keyring:…</c> for key management.
/// Grants may use wildcards: <c>collection:*</c>, <c>db:*</c>, <c>tenant:*</c>, <c>system:*</c>,
/// <c>keyring:*</c>, and <c>*</c> for every data action. Key management is a separate scope: <c>*</c> does
/// not include any <c>keyring:</c> action.
/// </summary>
public static class ChromaActions
{
    /// <summary>Every data action (not key management).</summary>
    public const string AllData = "*";
    /// <summary>Every key-management action.</summary>
    public const string AllKeyRing = "keyring:*";

    /// <summary>Store heartbeat / version.</summary>
    public const string SystemHeartbeat = "system:heartbeat";
    /// <summary>Copy the whole store (all tenants, records and the key ring) to a backup folder; needs an admin key as well.</summary>
    public const string SystemBackup = "system:backup";
    /// <summary>Check the whole SQLite file for damage (<see cref="ChromaClient.VerifyIntegrity()"/>); store-wide, reads every page; needs an admin key as well.</summary>
    public const string VerifyIntegrity = "system:verify_integrity";
    /// <summary>Create a tenant.</summary>
    public const string CreateTenant = "tenant:create_tenant";
    /// <summary>Read a tenant.</summary>
    public const string GetTenant = "tenant:get_tenant";
    /// <summary>List tenants.</summary>
    public const string ListTenants = "tenant:list_tenants";
    /// <summary>Delete a tenant.</summary>
    public const string DeleteTenant = "tenant:delete_tenant";
    /// <summary>Create a database.</summary>
    public const string CreateDatabase = "db:create_database";
    /// <summary>Read a database.</summary>
    public const string GetDatabase = "db:get_database";
    /// <summary>List databases.</summary>
    public const string ListDatabases = "db:list_databases";
    /// <summary>Delete a database.</summary>
    public const string DeleteDatabase = "db:delete_database";
    /// <summary>Create a collection.</summary>
    public const string CreateCollection = "db:create_collection";
    /// <summary>Get (open) a collection; implied for a collection on which the key holds any <c>collection:</c> action.</summary>
    public const string GetCollection = "db:get_collection";
    /// <summary>Get or create a collection.</summary>
    public const string GetOrCreateCollection = "db:get_or_create_collection";
    /// <summary>List or count collections.</summary>
    public const string ListCollections = "db:list_collections";
    /// <summary>Delete a collection.</summary>
    public const string DeleteCollection = "db:delete_collection";
    /// <summary>Rename a collection or change its metadata / ef_search.</summary>
    public const string UpdateCollection = "collection:update_collection";
    /// <summary>Add records.</summary>
    public const string Add = "collection:add";
    /// <summary>Upsert records.</summary>
    public const string Upsert = "collection:upsert";
    /// <summary>Update records.</summary>
    public const string Update = "collection:update";
    /// <summary>Delete records.</summary>
    public const string Delete = "collection:delete";
    /// <summary>Get records (and peek).</summary>
    public const string Get = "collection:get";
    /// <summary>Query nearest neighbours.</summary>
    public const string Query = "collection:query";
    /// <summary>Count records.</summary>
    public const string Count = "collection:count";
    /// <summary>Compact a collection (<see cref="Collection.Compact()"/>): reclaim the space of deleted records.</summary>
    public const string Compact = "collection:compact";

    /// <summary>Create a key (never broader than the creating key).</summary>
    public const string CreateKey = "keyring:create_key";
    /// <summary>List and inspect keys (never their secrets or hashes).</summary>
    public const string ListKeys = "keyring:list_keys";
    /// <summary>Disable or enable a key.</summary>
    public const string DisableKey = "keyring:disable_key";
    /// <summary>Revoke (delete) a key, irreversibly.</summary>
    public const string RevokeKey = "keyring:revoke_key";
    /// <summary>Rotate (roll) a key: a successor with identical scope.</summary>
    public const string RotateKey = "keyring:rotate_key";
    /// <summary>Read usage counters.</summary>
    public const string ReadUsage = "keyring:read_usage";
    /// <summary>Read and verify the audit log.</summary>
    public const string ReadAudit = "keyring:read_audit";

    /// <summary>Every concrete data action.</summary>
    public static IReadOnlyList<string> DataActions { get; } =
    [
        SystemHeartbeat, SystemBackup, CreateTenant, GetTenant, ListTenants, DeleteTenant, CreateDatabase, GetDatabase, ListDatabases,
        DeleteDatabase, CreateCollection, GetCollection, GetOrCreateCollection, ListCollections, DeleteCollection,
        UpdateCollection, Add, Upsert, Update, Delete, Get, Query, Count, Compact, VerifyIntegrity,
    ];

    /// <summary>Every concrete key-management action.</summary>
    public static IReadOnlyList<string> KeyRingActions { get; } = [CreateKey, ListKeys, DisableKey, RevokeKey, RotateKey, ReadUsage, ReadAudit];

    internal static readonly FrozenDictionary<string, int> Index = DataActions.Concat(KeyRingActions)
        .Select((a, i) => (a, i)).ToFrozenDictionary(p => p.a, p => p.i, StringComparer.Ordinal);

    /// <summary>The concrete actions a grant (possibly a wildcard) stands for; empty for an unknown grant.</summary>
    internal static IEnumerable<string> Expand(string grant) => grant switch
    {
        AllData => DataActions,
        AllKeyRing => KeyRingActions,
        _ when grant.EndsWith(":*", StringComparison.Ordinal) => DataActions.Where(a => a.StartsWith(grant[..^1], StringComparison.Ordinal)),
        _ => Index.ContainsKey(grant) ? [grant] : [],
    };
}
