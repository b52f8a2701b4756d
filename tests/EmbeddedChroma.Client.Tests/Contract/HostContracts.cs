using EmbeddedChroma.Tests.Contract;

namespace EmbeddedChroma.Client.Tests.Contract;

// The whole contract suite against this project's host (MapChroma) through the remote client.
public sealed class AddContractHost : AddContract<HostTarget>;
public sealed class CollectionContractHost : CollectionContract<HostTarget>;
public sealed class CollectionNameContractHost : CollectionNameContract<HostTarget>;
public sealed class CountPeekContractHost : CountPeekContract<HostTarget>;
public sealed class DeleteContractHost : DeleteContract<HostTarget>;
public sealed class EmbeddingGeneratorContractHost : EmbeddingGeneratorContract<HostTarget>;
public sealed class GetContractHost : GetContract<HostTarget>;
public sealed class QueryBatchContractHost : QueryBatchContract<HostTarget>;
public sealed class QueryContractHost : QueryContract<HostTarget>;
public sealed class TenantDatabaseContractHost : TenantDatabaseContract<HostTarget>;
public sealed class UpdateContractHost : UpdateContract<HostTarget>;
public sealed class UpsertContractHost : UpsertContract<HostTarget>;
public sealed class UrisContractHost : UrisContract<HostTarget>;
public sealed class WhereFilterContractHost : WhereFilterContract<HostTarget>;
