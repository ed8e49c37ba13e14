<#
.SYNOPSIS
    Installs a provisioning package built by bulk-enroll on this Windows 10/11 device and
    reports which settings applied and which failed.

.DESCRIPTION
    Run it in an elevated PowerShell on a test machine or VM you can roll back: the package
    may rename the device, join it to Entra ID or a domain, add users, install software,
    upgrade or even reset Windows.

    The script records the start time, installs the package with
    Install-ProvisioningPackage -ForceInstall -QuietInstall, waits until the provisioning
    event channels fall quiet (or -WaitSeconds pass), then collects every event written since
    the start to the provisioning, device-management and join channels. It prints, per
    provisioning document (provxml) of the package, whether it applied or failed, lists every
    warning and error event, and writes all of it to a report file to send back.

    Exit code: 0 when nothing failed, 1 when a document or event reported a failure,
    2 when the script could not run (not elevated, package missing).

.PARAMETER PackagePath
    The .ppkg file to install.

.PARAMETER WaitSeconds
    How long to wait at most for the provisioning engine after the install returns
    (default 180). The wait ends earlier once no new event arrived for 30 seconds.

.PARAMETER ReportPath
    Where to write the report (default: Test-Package-<name>-<time>.txt beside the package).

.PARAMETER SkipInstall
    Do not install; only collect events since -Since (for a package installed during OOBE).

.PARAMETER Since
    With -SkipInstall: collect events from this time on (default: the last boot).

.EXAMPLE
    Set-ExecutionPolicy -Scope Process Bypass
    .\Test-Package.ps1 -PackagePath D:\lab.ppkg

.EXAMPLE
    .\Test-Package.ps1 -PackagePath D:\lab.ppkg -SkipInstall
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$PackagePath,
    [int]$WaitSeconds = 180,
    [string]$ReportPath,
    [switch]$SkipInstall,
    [Nullable[datetime]]$Since
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$Channels = @(
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/Admin',
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/AutoPilot',
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/ManagementService',
    'Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin',
    'Microsoft-Windows-AAD/Operational',
    'Microsoft-Windows-User Device Registration/Admin',
    'Microsoft-Windows-Shell-Core/Operational'
)
$QuietSeconds = 30
$PollSeconds = 5

$Report = New-Object System.Collections.Generic.List[string]
function Out-Report([string]$Text = '') {
    $Report.Add($Text)
    Write-Host $Text
}

$identity = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $identity.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'Test-Package: run this script in an elevated PowerShell (Run as administrator).'
    exit 2
}
if (-not (Test-Path -LiteralPath $PackagePath -PathType Leaf)) {
    Write-Host "Test-Package: the package '$PackagePath' does not exist."
    exit 2
}
$Package = Get-Item -LiteralPath $PackagePath
$Start = Get-Date
if ($SkipInstall -and -not $Since) {
    $Since = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
}
if (-not $SkipInstall) { $Since = $Start.AddSeconds(-5) }
if (-not $ReportPath) {
    $name = 'Test-Package-{0}-{1:yyyyMMdd-HHmmss}.txt' -f $Package.BaseName, $Start
    $ReportPath = Join-Path $Package.DirectoryName $name
}

# --- the machine and the package ------------------------------------------------------------
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$display = if ($cv.PSObject.Properties['DisplayVersion']) { $cv.DisplayVersion } else { $cv.ReleaseId }
Out-Report 'bulk-enroll package acceptance report'
Out-Report ('Report written   {0:o}' -f $Start)
Out-Report "Package          $($Package.FullName)"
Out-Report "Size             $($Package.Length) bytes"
Out-Report "SHA-256          $((Get-FileHash -Algorithm SHA256 -LiteralPath $Package.FullName).Hash)"
Out-Report "Windows          $($cv.ProductName) $display, build $($cv.CurrentBuild).$($cv.UBR), edition $($cv.EditionID)"
Out-Report "Computer name    $env:COMPUTERNAME (before)"
Out-Report ('Events since     {0:o}' -f $Since)
Out-Report

# --- install --------------------------------------------------------------------------------
$Installed = $null
$InstallError = $null
if ($SkipInstall) {
    Out-Report 'Install          skipped (-SkipInstall)'
} else {
    Out-Report 'Install          Install-ProvisioningPackage -ForceInstall -QuietInstall'
    try {
        $Installed = Install-ProvisioningPackage -PackagePath $Package.FullName -ForceInstall -QuietInstall
        Out-Report 'Install result   the cmdlet returned without an error'
    } catch {
        $InstallError = $_
        Out-Report "Install result   FAILED: $($_.Exception.Message)"
        if ($_.Exception.HResult) { Out-Report ('HRESULT          0x{0:X8}' -f $_.Exception.HResult) }
    }
}

function Get-ProvisioningEvents([datetime]$From) {
    $events = @()
    foreach ($channel in $Channels) {
        try {
            $events += Get-WinEvent -FilterHashtable @{ LogName = $channel; StartTime = $From } -ErrorAction Stop
        } catch {
            # No events in the window, or the channel does not exist on this build: both fine.
        }
    }
    return $events
}

# --- wait until the provisioning engine falls quiet (polling against a deadline) -----------
if (-not $SkipInstall) {
    $deadline = (Get-Date).AddSeconds($WaitSeconds)
    $lastCount = -1
    $lastChange = Get-Date
    while ((Get-Date) -lt $deadline) {
        $count = @(Get-ProvisioningEvents $Since).Count
        if ($count -ne $lastCount) {
            $lastCount = $count
            $lastChange = Get-Date
        } elseif (((Get-Date) - $lastChange).TotalSeconds -ge $QuietSeconds) {
            break
        }
        Start-Sleep -Seconds $PollSeconds
    }
}

# --- what Windows says about each provisioning document -------------------------------------
if (-not $Installed) {
    try { $Installed = Get-ProvisioningPackage -PackagePath $Package.FullName } catch { }
}
$Failures = 0
Out-Report
Out-Report 'Package as Windows sees it'
if ($Installed) {
    foreach ($field in 'PackageId', 'PackageName', 'Version', 'OwnerType', 'Rank', 'Altitude', 'LastInstallTime', 'IsInstalled') {
        if ($Installed.PSObject.Properties[$field]) { Out-Report ('  {0,-16} {1}' -f $field, $Installed.$field) }
    }
} else {
    Out-Report '  (Windows returned no package information)'
}

Out-Report
Out-Report 'Settings (one provisioning document each)'
$results = @()
if ($Installed -and $Installed.PSObject.Properties['Result'] -and $Installed.Result) {
    # The Result text holds, per document: its file name, then "Key: value" lines
    # (Category, LastResult, Message, NumberOfFailures), blocks separated by blank lines.
    $current = $null
    foreach ($line in ($Installed.Result -split "`r?`n")) {
        $text = $line.Trim()
        if ($text -match '\.provxml$') {
            $current = [ordered]@{ Document = $text; LastResult = ''; Message = ''; NumberOfFailures = '' }
            $results += $current
        } elseif ($current -and $text -match '^(\w+):\s*(.*)$') {
            $current[$Matches[1]] = $Matches[2]
        }
    }
    foreach ($r in $results) {
        $failed = ($r.LastResult -and $r.LastResult -notmatch '^Success') -or ($r.NumberOfFailures -and $r.NumberOfFailures -notmatch '^0\b')
        if ($failed) { $Failures++ }
        $state = if ($failed) { 'FAILED ' } else { 'applied' }
        Out-Report ('  {0}  {1}  {2}' -f $state, $r.Document, $r.Message)
    }
    if (-not $results) {
        Out-Report '  (could not split the result into documents; raw result follows)'
        Out-Report ($Installed.Result | Out-String)
    }
} else {
    Out-Report '  (no per-document result from Windows; see the events below)'
}

# --- events ---------------------------------------------------------------------------------
$events = @(Get-ProvisioningEvents $Since | Sort-Object TimeCreated)
$problems = @($events | Where-Object { $_.Level -in 1, 2, 3 })
$errors = @($events | Where-Object { $_.Level -in 1, 2 })
$Failures += $errors.Count
if ($InstallError) { $Failures++ }

Out-Report
Out-Report "Events           $($events.Count) in total, $($errors.Count) errors, $($problems.Count - $errors.Count) warnings"
foreach ($channel in $Channels) {
    $n = @($events | Where-Object { $_.LogName -eq $channel }).Count
    Out-Report ('  {0,5}  {1}' -f $n, $channel)
}
Out-Report
Out-Report 'Errors and warnings'
if (-not $problems) { Out-Report '  (none)' }
foreach ($e in $problems) {
    $message = ($e.Message -replace '\s+', ' ').Trim()
    Out-Report ('  {0:HH:mm:ss} {1,-11} id {2,-5} {3}: {4}' -f $e.TimeCreated, $e.LevelDisplayName, $e.Id, $e.LogName, $message)
}

Out-Report
Out-Report 'All events'
foreach ($e in $events) {
    $message = ($e.Message -replace '\s+', ' ').Trim()
    Out-Report ('  {0:o} {1} id {2} level {3} {4}' -f $e.TimeCreated, $e.LogName, $e.Id, $e.Level, $message)
}

# --- the device afterwards ------------------------------------------------------------------
Out-Report
Out-Report 'Device afterwards'
Out-Report "  Computer name    $env:COMPUTERNAME (a rename takes effect after the restart)"
try {
    $dsreg = & dsregcmd.exe /status 2>$null | Select-String -Pattern 'AzureAdJoined|DomainJoined|TenantName|DeviceId'
    foreach ($line in $dsreg) { Out-Report "  $($line.Line.Trim())" }
} catch { Out-Report '  (dsregcmd /status not available)' }

Out-Report
$verdict = if ($Failures -eq 0) { 'PASS: no failure reported' } else { "FAIL: $Failures failure(s) reported" }
Out-Report "Verdict          $verdict"

$Report | Set-Content -LiteralPath $ReportPath -Encoding UTF8
Write-Host "Report written to $ReportPath - please send this file back."
if ($Failures -eq 0) { exit 0 } else { exit 1 }
