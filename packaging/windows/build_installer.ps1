# Build Taxon's Windows installer: dist\Taxon (PyInstaller) -> dist\Taxon-<version>-setup.exe.
#
#   pwsh packaging/windows/build_installer.ps1 [-Python python] [-Iscc iscc]
#
# Expects the requirements (requirements.txt, packaging/requirements-build.txt) installed for
# -Python, with the CUDA build of torch where wanted (see .github/workflows/installers.yml).
param(
    [string]$Python = "python",
    [string]$Iscc = "iscc"
)
$ErrorActionPreference = "Stop"
Set-Location (Resolve-Path "$PSScriptRoot\..\..")

# Compiled catalogs (make catalogs on Linux and macOS).
& $Python -m babel.messages.frontend compile -d translations -D taxon
if ($LASTEXITCODE -ne 0) { throw "compiling the catalogs failed" }

& $Python -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\taxon.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

$version = (& $Python packaging\taxon_bundle.py version).Trim()
# A bundle built with PyPI's CPU-only torch is named Taxon-CPU-<version>-setup.exe.
$flavour = if (Test-Path dist\Taxon\_internal\torch\lib\torch_cuda.dll) { "" } else { "-CPU" }
& $Python packaging\taxon_bundle.py icons build\icons | Out-Null
& $Iscc "/DAppVersion=$version" "/DBundleDir=$PWD\dist\Taxon" "/DIconFile=$PWD\build\icons\taxon.ico" `
    "/DOutputDir=$PWD\dist" "/DFlavour=$flavour" packaging\windows\taxon.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Write-Output "dist\Taxon$flavour-$version-setup.exe"
